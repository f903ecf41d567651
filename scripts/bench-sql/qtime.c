/* qtime DB SQLFILE [RUNS]: runs each statement of SQLFILE (one per line, '--' lines echo),
   prints EXPLAIN QUERY PLAN, then the median and min wall time over RUNS runs, and rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "sqlite3.h"
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e3+t.tv_nsec/1e6;}
static int cmp(const void*a,const void*b){double x=*(double*)a,y=*(double*)b;return x<y?-1:x>y;}
int main(int argc,char**argv){
  sqlite3*db; if(sqlite3_open_v2(argv[1],&db,SQLITE_OPEN_READWRITE,0)){fprintf(stderr,"open\n");return 1;}
  int runs=argc>3?atoi(argv[3]):5; FILE*f=fopen(argv[2],"r"); char line[65536];
  sqlite3_exec(db,"PRAGMA cache_size=-65536",0,0,0);
  while(fgets(line,sizeof line,f)){
    line[strcspn(line,"\n")]=0; if(!*line) continue;
    if(!strncmp(line,"--",2)){printf("\n%s\n",line);continue;}
    if(!strncmp(line,"!",1)){char*e=0;double t0=now();if(sqlite3_exec(db,line+1,0,0,&e))printf("ERR %s\n",e);printf("exec %.1f ms: %s\n",now()-t0,line+1);continue;}
    char eqp[70000]; snprintf(eqp,sizeof eqp,"EXPLAIN QUERY PLAN %s",line);
    sqlite3_stmt*s; if(sqlite3_prepare_v2(db,eqp,-1,&s,0)){printf("ERR %s\n",sqlite3_errmsg(db));continue;}
    while(sqlite3_step(s)==SQLITE_ROW) printf("  plan: %d %d %s\n",sqlite3_column_int(s,0),sqlite3_column_int(s,1),sqlite3_column_text(s,3));
    sqlite3_finalize(s);
    double ts[100]; long rows=0;
    for(int r=0;r<runs;r++){ if(sqlite3_prepare_v2(db,line,-1,&s,0)){printf("ERR %s\n",sqlite3_errmsg(db));break;}
      double t0=now(); rows=0; while(sqlite3_step(s)==SQLITE_ROW) rows++; ts[r]=now()-t0; sqlite3_finalize(s);}
    qsort(ts,runs,sizeof(double),cmp);
    printf("  => median %.2f ms, min %.2f ms, %ld rows (%d runs)\n",ts[runs/2],ts[0],rows,runs);
  }
  return 0;
}
